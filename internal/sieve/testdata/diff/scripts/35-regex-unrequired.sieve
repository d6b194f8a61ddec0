if header :regex "subject" "a" { discard; }
