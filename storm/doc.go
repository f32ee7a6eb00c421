// Package storm decides, from lightning strikes and thunderstorm signals,
// when the fleet must power down and when the storm is over.
//
// The package is pure: an Engine holds a State and every method takes the
// current time as an argument and returns the Actions a runner performs
// (publish SHUTDOWN, announce a cancel or the all clear, log a warning). It
// owns no goroutines, timers or connections, so a 30-minute all clear is a
// table test that runs in microseconds.
//
// A storm moves through the phases clear, watch, countdown, shutdown and
// allclear. A strike inside the watch radius (or a thunderstorm signal from a
// forecast or alert source) starts a storm on watch. A strike from a
// trigger-capable source inside the shutdown radius starts a countdown: one
// Shutdown action whose deadline the hosts count down to themselves. The
// runner calls Tick often (every few seconds) so deadlines, the all clear and
// silent sources are noticed. The all clear comes AllClear after the last
// strike inside the shutdown radius, and never while no trigger-capable
// source can see: a failed or silent source is not a clear sky.
//
// A cancel stops the countdown and holds off a new one for HoldAfterCancel,
// unless lightning comes closer than it had been when the cancel came. The
// State is JSON and is meant to be persisted after every call that returns a
// StateChanged action; Restore resumes it after a restart without a second
// SHUTDOWN for the same countdown.
package storm
