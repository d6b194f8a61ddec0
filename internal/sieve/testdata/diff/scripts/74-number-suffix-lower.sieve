if size :over 1k { discard; }
