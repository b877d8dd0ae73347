"""The outgoing side of SMTP: Carnet as a client of its relay (``CARNET_SMTP_RELAY``)."""
