redirect "Other <other@example.org>";
redirect "<other@example.org>";
