package config

// exampleFleet is the [fleet] part of `mailgate config example`.
const exampleFleet = `
[fleet]
# Several nodes on one PostgreSQL database acting as one server: every
# mailbox has a home node (the only one touching its Maildir); the others
# hand its mail there over LMTP and proxy its IMAP/POP3 sessions there.
# "" (default) is a single node; a fleet needs database = "postgres://...".
listen = ""                    # internal listener, e.g. "10.0.0.11:7025"
# What the other nodes dial to reach listen; "" is listen itself.
address = ""
# This node's name: default the hostname. Its certificate must carry it as
# a DNS name.
node = ""
# The fleet CA, and this node's certificate and key (signed by that CA,
# extended key usage serverAuth and clientAuth). Nodes accept only peers
# with a certificate from this CA.
ca_file = ""
cert_file = ""
key_file = ""
# Where "mailgate user add" puts a new mailbox: "least-loaded" (the live node
# with the fewest mailboxes) or a node's name; --home overrides it.
home = "least-loaded"
# How often the node writes its heartbeat ("mailgate node list").
heartbeat = "10s"
`
