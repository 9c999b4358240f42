package vrrp

import (
	"strconv"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Log lines use keepalived's wording, so that operators and their log
// scrapers find what they know.

func (c *core) logState(r *coreRouter, a *Action) {
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
	c.logf(r, zapcore.InfoLevel, "("+r.cfg.Name+") "+msg, fields...)
}

func (c *core) note(r *coreRouter, a *Action) {
	prefix := "(" + r.cfg.Name + ") "
	prio := strconv.Itoa(int(a.Priority))
	ours := strconv.Itoa(int(r.m.Priority()))
	switch a.Note {
	case NoteDiscardLower:
		c.info(r, prefix+"received lower priority ("+prio+") advert from "+a.Addr.String()+" - discarding")
	case NoteLowerPriority:
		msg := prefix + "Received advert from " + a.Addr.String() + " with lower priority " + prio + ", ours " + ours
		if !r.cfg.LowerPriorityNoAdvert {
			msg += ", forcing new election"
		}
		c.info(r, msg)
	case NoteHigherPriority:
		c.info(r, prefix+"Master received advert from "+a.Addr.String()+" with higher priority "+prio+", ours "+ours)
	case NoteEqualPriorityHigherAddr:
		c.info(r, prefix+"Master received advert from "+a.Addr.String()+" with same priority "+prio+" but higher IP address than ours")
	case NotePriorityZeroBackup:
		c.info(r, prefix+"Backup received priority 0 advertisement")
	case NotePriorityZeroMaster:
		c.info(r, prefix+"Master received priority 0 message")
	case NoteIntervalChanged:
		c.info(r, prefix+"advertisement interval updated to "+strconv.FormatInt(a.Interval.Milliseconds(), 10)+
			" milli-sec from "+strconv.FormatInt(a.OldInterval.Milliseconds(), 10)+" milli-sec")
	case NotePreemptDelayStart:
		c.info(r, prefix+"start preempt delay ("+a.Interval.String()+")")
	case NotePreemptDelayStop:
		c.info(r, prefix+"stop preempt delay")
	case NoteSameAddress:
		c.warn(r, prefix+"WARNING - equal priority advert received from remote host with our IP address.")
	case NoteResignNotMaster:
		c.info(r, prefix+"not master - nothing to resign")
	}
}

func (c *core) info(r *coreRouter, msg string) { c.logf(r, zapcore.InfoLevel, msg) }
func (c *core) warn(r *coreRouter, msg string) { c.logf(r, zapcore.WarnLevel, msg) }
