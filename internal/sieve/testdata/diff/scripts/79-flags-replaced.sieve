require ["imap4flags", "fileinto"];
setflag "A B";
fileinto "One";
setflag "C";
