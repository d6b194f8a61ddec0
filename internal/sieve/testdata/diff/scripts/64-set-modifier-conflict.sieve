require "variables";
set :lower :upper "x" "a";
