"""The MSSanté door: an ESMTP server (aiosmtpd) that hands mail to ``carnet.messaging``."""
