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
// What "can see" means depends on the source. One that answers on a
// schedule (a polled API, a station reporting every minute) is silent, and
// blind, when it stops answering. An event feed (a strike feed filtered to
// the site, a lightning sensor) is quiet in fair weather; its connection is
// its health, so it is blind only while the connection is down.
//
// No phase can get stuck. A countdown ends at its deadline; the shutdown
// phase at the all clear, or, when that was held because nothing could
// see, at the first strike inside the radius once the all clear would have
// been due: that strike is a new storm with a new countdown. Strikes stamped
// more than FutureTolerance ahead of now, or older than AllClear, are
// ignored and counted in the source's health.
//
// Storm cells are tracked (package track) from the located strikes of
// trigger sources out to TrackRadiusKM. When a cell's lightning is
// predicted inside the shutdown radius sooner than Grace, ShutdownTime and
// PredictMargin from now, and the prediction has held for ConfirmFor, a
// countdown starts, so the hosts are down before the lightning comes. A
// strike inside the radius still starts one at once when no prediction did;
// only a doubtful one beyond CloseRadiusKM waits for another to confirm it:
// a lone strike while a storm is tracked elsewhere, or one at the fringe of
// a tracked cell whose lightning is not expected inside. The cells that matter are in the State; the tracker itself is
// not, and rebuilds from the feed after a restart.
//
// A cancel stops the countdown and holds off a new one for HoldAfterCancel,
// unless lightning comes closer than it had been when the cancel came. The
// State is JSON and is meant to be persisted after every call that returns a
// StateChanged action; Restore resumes it after a restart without a second
// SHUTDOWN for the same countdown.
package storm
