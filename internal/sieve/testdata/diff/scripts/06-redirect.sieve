redirect "other@example.org";
