// Package cloud is what every cloud VIP backend shares: it turns a
// Provider — one cloud's calls that point an address at this instance —
// into a vrrp.Backend that is ordered, retried, bounded, re-asserted and
// observable. The providers live in their own packages (vip/aws, ...),
// so that a program links only the SDK of the cloud it uses; this
// package links none.
//
// A cloud backend moves the address inside the provider's network (a
// secondary private IP, an elastic IP, a route, an interface); it does
// not put the address on the host. Compose it with vip.Linux through
// vip.Multi, in the order the provider needs: vip.Multi(linux, cloud)
// when the address is already routable to the host's interface once the
// provider is told (secondary IPs, routes), vip.Multi(cloud, linux) when
// the interface the address lives on appears only after the provider's
// call (an elastic network interface being attached).
//
// # The contract with package vrrp
//
// vrrp calls a router's backend from one goroutine, in order. For each
// router (AddressSet.Router) the Backend runs one call at a time, and a
// newer call cancels an older one still running (it returns an error
// wrapping ErrSuperseded): the latest transition wins, whether the calls
// come one after another or at once, and whether or not the caller
// cancels the older call's context when it queues the newer one (when
// it does, the older call returns at once with the context's error).
//
// Acquire asks the provider, retries with backoff what can be retried,
// and waits until the provider shows the address pointing at this
// instance. It returns nil then; otherwise, after Options.AcquireTimeout
// at the latest, an error wrapping ErrAcquireTimeout, or at once an error
// wrapping ErrRejected when the provider refused in a way retrying cannot
// fix (no permission, no such interface, an address outside the subnet).
// A router whose Acquire fails does not hold its address: vrrp is meant
// to put it in FAULT (so that it advertises priority 0 and a backup tries
// instead) and to call Release. A failed Acquire leaves no claim pursued
// in the background.
//
// While a router holds its addresses, the Backend checks every
// Options.Reassert that the provider still points them here (someone may
// have moved them behind our back) and claims them back if not. Announce
// (a master that heard a lower priority) does the same check at once.
//
// Release stops the re-assertion and any Acquire still running, and lets
// the provider give the address up if it is configured to (most leave it
// where it is: the next master's Acquire moves it).
//
// Errors, retries and latencies are counted in Stats and logged (zap);
// vrrp turns a call's error into an event. A re-assertion runs outside
// any call, so its failures show in Stats and the log only.
package cloud
