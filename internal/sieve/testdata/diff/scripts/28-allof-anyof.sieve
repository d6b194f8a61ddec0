require "fileinto";
if allof (exists "from", anyof (header :contains "subject" "out", size :over 2K)) { fileinto "Both"; }
if anyof (false, not true) { discard; }
