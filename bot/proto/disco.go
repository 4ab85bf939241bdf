package proto

import (
	"encoding/xml"
	"slices"
	"strconv"
	"strings"

	"github.com/steward-xmpp/steward/policies"
)

// DiscoInfoQuery asks for disco#info (IQ get); node "" for the entity itself.
func DiscoInfoQuery(node string) xml.TokenReader {
	return elem(NSDiscoInfo, "query", attrs("node", node))
}

// DiscoInfo is a disco#info reply.
type DiscoInfo struct {
	Identities []Identity `json:"identities,omitempty"`
	Features   []string   `json:"features,omitempty"`
	// Form is the muc#roominfo extended form when present, else the first
	// extended form, else nil.
	Form *Form `json:"form,omitempty"`
}

// Identity is a disco#info identity.
type Identity struct {
	Category string `json:"category,omitempty"`
	Type     string `json:"type,omitempty"`
	Name     string `json:"name,omitempty"`
}

// Has reports whether the entity advertises a feature var.
func (d DiscoInfo) Has(feature string) bool { return slices.Contains(d.Features, feature) }

// UnmarshalXML decodes a disco#info <query>.
func (d *DiscoInfo) UnmarshalXML(dec *xml.Decoder, start xml.StartElement) error {
	var w struct {
		Identities []struct {
			Category string `xml:"category,attr"`
			Type     string `xml:"type,attr"`
			Name     string `xml:"name,attr"`
		} `xml:"identity"`
		Features []struct {
			Var string `xml:"var,attr"`
		} `xml:"feature"`
		Forms []Form `xml:"jabber:x:data x"`
	}
	if err := dec.DecodeElement(&w, &start); err != nil {
		return err
	}
	*d = DiscoInfo{}
	for _, id := range w.Identities {
		d.Identities = append(d.Identities, Identity(id))
	}
	for _, f := range w.Features {
		d.Features = append(d.Features, f.Var)
	}
	for i := range w.Forms {
		if w.Forms[i].FormType() == NSMUCRoomInfo || d.Form == nil {
			d.Form = &w.Forms[i]
		}
		if w.Forms[i].FormType() == NSMUCRoomInfo {
			break
		}
	}
	return nil
}

// DecodeDiscoInfo finds the disco#info query in r (a whole IQ reply or the
// query alone) and decodes it.
func DecodeDiscoInfo(r xml.TokenReader) (DiscoInfo, error) {
	var d DiscoInfo
	err := decodeFirst(r, xml.Name{Space: NSDiscoInfo, Local: "query"}, &d)
	return d, err
}

// maxUsersFields are the roominfo fields that may carry the seat cap.
// XEP-0045 defines none; Prosody 0.12 sends none; ejabberd copies some
// muc#roomconfig fields into its roominfo form.
var maxUsersFields = []string{"muc#roominfo_maxusers", "muc#roomconfig_maxusers", "muc#maxusers"}

// RoomFeatures maps a room's disco#info to policies.Features. When a room
// advertises both XEP-0425 namespaces, :1 is preferred.
func RoomFeatures(d DiscoInfo) policies.Features {
	f := policies.Features{
		Moderated:     d.Has("muc_moderated"),
		MembersOnly:   d.Has("muc_membersonly"),
		SemiAnonymous: d.Has("muc_semianonymous"),
		NonAnonymous:  d.Has("muc_nonanonymous"),
		Password:      d.Has("muc_passwordprotected"),
		Persistent:    d.Has("muc_persistent"),
		Public:        d.Has("muc_public"),
		VoiceRequests: d.Has(NSMUCRequest),
		OccupantIDs:   d.Has(NSOccupantID),
		Raw:           slices.Clone(d.Features),
	}
	switch {
	case d.Has(NSModerate1):
		f.Moderation = NSModerate1
	case d.Has(NSModerate0):
		f.Moderation = NSModerate0
	}
	if d.Form != nil {
		for _, v := range maxUsersFields {
			if n, err := strconv.Atoi(strings.TrimSpace(d.Form.Value(v))); err == nil && n > 0 {
				f.MaxOccupants = n
				break
			}
		}
	}
	return f
}
