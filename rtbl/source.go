package rtbl

import "context"

// Source is the XEP-0060 side of a block list. Package bot implements it
// over the XMPP session; rtbl never talks XMPP itself.
type Source interface {
	// Fetch returns every item of the node (a full <items/> request,
	// following RSM pages if the service uses them). Item payloads are
	// parsed with ParseReport.
	Fetch(ctx context.Context, service, node string) ([]Entry, error)
	// Subscribe subscribes the bot's bare JID to the node. Subscribing
	// again when already subscribed must not be an error.
	Subscribe(ctx context.Context, service, node string) error
	// Publish publishes e as one item with id e.ID and payload e.Report().
	Publish(ctx context.Context, service, node string, e Entry) error
	// Retract retracts the item id with notify="true".
	Retract(ctx context.Context, service, node, id string) error
}

// Notifier delivers a signal to every room Steward is in; the bot wraps it
// as policies.Notified{Topic: topic, Payload: payload} and queues it to the
// largest rooms first.
type Notifier interface {
	NotifyRooms(topic string, payload any)
}

// Topic is the policies.Notified topic of this package's payloads.
const Topic = "rtbl"

// Published is the payload of a Notified event when entries appeared on a
// list: new items, or items found by a resync that were not known before.
type Published struct {
	List    string
	Entries []Entry
	index   map[[32]byte]int
}

// NewPublished builds a Published with its lookup index (the service builds
// it once and every room shares it).
func NewPublished(list string, entries []Entry) Published {
	idx := make(map[[32]byte]int, len(entries))
	for i, e := range entries {
		if k, err := ParseItemID(e.ID); err == nil {
			idx[k] = i
		}
	}
	return Published{List: list, Entries: entries, index: idx}
}

// Find reports whether a bare JID, or its domain, is among the entries.
func (p Published) Find(bare string) (e Entry, domain, ok bool) {
	jk, dk, hasDomain := keys(bare)
	if i, ok := p.index[jk]; ok {
		return p.Entries[i], !hasDomain, true
	}
	if hasDomain {
		if i, ok := p.index[dk]; ok {
			return p.Entries[i], true, true
		}
	}
	return Entry{}, false, false
}

// Retracted is the payload of a Notified event when entries left a list.
type Retracted struct {
	List string
	IDs  []string
}
