require "fileinto";
if header :contains "subject" "acme" { fileinto "Acme"; }
elsif header :contains "subject" "hello" { fileinto "Hello"; }
elsif exists "x-priority" { fileinto "Prio"; }
else { discard; }
