require "fileinto";
if true { if true { if anyof (false, allof (true, not false)) { if not not true { fileinto "Deep"; } } } }
