redirect "other@example.org";
redirect "other@example.org";
