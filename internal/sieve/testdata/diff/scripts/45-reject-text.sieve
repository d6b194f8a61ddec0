require "reject";
reject text:
Not here.
..signature
.
;
