"""netstat's text: ``netstat -ano`` printed as Windows prints it, and read back in any
display language (the public face is ``portpool.netstat``)."""
