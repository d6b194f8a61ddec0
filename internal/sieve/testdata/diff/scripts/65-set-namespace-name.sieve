require "variables";
set "x.y" "b";
