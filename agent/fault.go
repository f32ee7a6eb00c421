package agent

// fault is called at each step between receiving a command and finishing
// it. It does nothing, except in binaries built with -tags faultinject,
// where the fault tests use it to kill the process at a chosen step.
var fault = func(step string) {}
