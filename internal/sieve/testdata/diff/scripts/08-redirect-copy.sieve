require "copy";
redirect :copy "other@example.org";
