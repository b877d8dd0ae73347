"""Identities: the matricule INS, identity traits, the directory of pros, places and mailboxes."""
