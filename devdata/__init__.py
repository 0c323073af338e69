"""Development data: the demo organisation (`flask seed-demo`) and the bulk data set for
benchmarks (`flask seed-bulk`). The app never imports it; only those two commands do."""
