require "imap4flags";
addflag "v" "x";
