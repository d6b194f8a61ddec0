if header :is "subject" "Hello there" { discard; }
