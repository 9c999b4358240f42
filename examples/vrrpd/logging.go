package main

// keepalivedTime is how keepalived --log-console stamps its lines (ctime):
// "Sun Nov 22 03:10:26 2026: (VI_1) Entering MASTER STATE".
const keepalivedTime = "Mon Jan _2 15:04:05 2006"
