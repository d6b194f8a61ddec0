require ["fileinto", "copy"];
fileinto :copy "A";
redirect :copy "c@example.org";
discard;
