package auth

import "fmt"

// Rollout is how strictly a router applies auth_hmac, for deploying it
// across a running group without a transition: first every node
// receive-only (verify what is signed, sign nothing), then permissive
// (sign too, still accept unsigned), then enforce. Each sweep is hitless:
// at every step, every advert on the wire is one that every node accepts.
type Rollout uint8

const (
	// RolloutEnforce signs every advert and accepts only signed ones
	// (keepalived's default, mode enforce).
	RolloutEnforce Rollout = iota
	// RolloutPermissive signs every advert and also accepts unsigned
	// ones (mode permissive).
	RolloutPermissive
	// RolloutReceiveOnly signs nothing and accepts unsigned adverts; a
	// signed one must verify (mode receive-only).
	RolloutReceiveOnly
)

// Signs reports whether adverts are sent with a trailer.
func (r Rollout) Signs() bool { return r != RolloutReceiveOnly }

// Unsigned decides an advert that arrived without a trailer: nil (accept
// it) in the two migration modes, ErrTrailerMissing in enforce. An advert
// that has a trailer is verified in every mode.
func (r Rollout) Unsigned() error {
	if r == RolloutEnforce {
		return ErrTrailerMissing
	}
	return nil
}

// String is keepalived's name of the mode.
func (r Rollout) String() string {
	switch r {
	case RolloutEnforce:
		return "enforce"
	case RolloutPermissive:
		return "permissive"
	case RolloutReceiveOnly:
		return "receive-only"
	}
	return fmt.Sprintf("Rollout(%d)", uint8(r))
}

// AntiReplay is how received sequences are judged.
type AntiReplay uint8

const (
	// AntiReplayTime (keepalived's default, anti_replay time): a sequence
	// must be newer than the last one accepted from its sender, and its
	// seconds within the freshness window of the receiver's clock. Needs
	// synchronized clocks (NTP).
	AntiReplayTime AntiReplay = iota
	// AntiReplayMonotonic (anti_replay monotonic): a sequence must be
	// newer than the last one accepted from its sender; clocks may differ.
	AntiReplayMonotonic
)

// String is keepalived's name of the mode.
func (a AntiReplay) String() string {
	switch a {
	case AntiReplayTime:
		return "time"
	case AntiReplayMonotonic:
		return "monotonic"
	}
	return fmt.Sprintf("AntiReplay(%d)", uint8(a))
}
