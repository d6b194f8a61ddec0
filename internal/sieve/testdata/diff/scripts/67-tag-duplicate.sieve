if header :contains :contains "subject" "x" { discard; }
