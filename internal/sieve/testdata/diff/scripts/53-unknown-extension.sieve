require "nonsense";
