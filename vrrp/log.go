package vrrp

import (
	"strconv"

	"go.uber.org/zap"
)

// Log lines use keepalived's wording, so that operators and their log
// scrapers find what they know.

func (n *Node) logState(r *Router, a *Action) {
	prefix := "(" + r.cfg.Name + ") "
	var msg string
	switch a.To {
	case Master:
		msg = "Entering MASTER STATE"
	case Backup:
		msg = "Entering BACKUP STATE"
		if a.From == Initialize {
			msg += " (init)"
		}
	case Fault:
		msg = "Entering FAULT STATE"
		if a.From == Initialize {
			msg += " (init)"
		}
	case Initialize:
		msg = "Stopped"
	}
	fields := []zap.Field{zap.Stringer("from", a.From), zap.Stringer("reason", a.Reason)}
	if a.Detail != "" {
		fields = append(fields, zap.String("detail", a.Detail))
	}
	n.log.Info(prefix+msg, fields...)
}

func (n *Node) note(r *Router, a *Action) {
	prefix := "(" + r.cfg.Name + ") "
	prio := strconv.Itoa(int(a.Priority))
	ours := strconv.Itoa(int(r.m.Priority()))
	switch a.Note {
	case NoteDiscardLower:
		n.log.Info(prefix + "received lower priority (" + prio + ") advert from " + a.Addr.String() + " - discarding")
	case NoteLowerPriority:
		msg := prefix + "Received advert from " + a.Addr.String() + " with lower priority " + prio + ", ours " + ours
		if !r.cfg.LowerPriorityNoAdvert {
			msg += ", forcing new election"
		}
		n.log.Info(msg)
	case NoteHigherPriority:
		n.log.Info(prefix + "Master received advert from " + a.Addr.String() + " with higher priority " + prio + ", ours " + ours)
	case NoteEqualPriorityHigherAddr:
		n.log.Info(prefix + "Master received advert from " + a.Addr.String() + " with same priority " + prio + " but higher IP address than ours")
	case NotePriorityZeroBackup:
		n.log.Info(prefix + "Backup received priority 0 advertisement")
	case NotePriorityZeroMaster:
		n.log.Info(prefix + "Master received priority 0 message")
	case NoteIntervalChanged:
		n.log.Info(prefix + "advertisement interval updated to " + strconv.FormatInt(a.Interval.Milliseconds(), 10) +
			" milli-sec from " + strconv.FormatInt(a.OldInterval.Milliseconds(), 10) + " milli-sec")
	case NotePreemptDelayStart:
		n.log.Info(prefix + "start preempt delay (" + a.Interval.String() + ")")
	case NotePreemptDelayStop:
		n.log.Info(prefix + "stop preempt delay")
	case NoteSameAddress:
		n.log.Warn(prefix + "WARNING - equal priority advert received from remote host with our IP address.")
	case NoteResignNotMaster:
		n.log.Info(prefix + "not master - nothing to resign")
	}
}
