require "reject";
if header :contains "subject" "hello" { reject "no thanks"; }
