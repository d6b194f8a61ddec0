require ["mailbox", "fileinto"];
if mailboxexists "INBOX" { fileinto "Exists"; }
if mailboxexists "Nope" { fileinto "NoSuch"; }
