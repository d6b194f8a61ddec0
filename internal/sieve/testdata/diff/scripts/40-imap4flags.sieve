require ["imap4flags", "fileinto"];
addflag "\\Seen";
addflag ["\\Flagged", "Work"];
fileinto "A";
removeflag "work";
fileinto :flags "\\Answered" "B";
