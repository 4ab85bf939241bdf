package proto

import "encoding/xml"

// The functions below build IQ payloads; wrap them with
// stanza.IQ{Type: …, To: room}.Wrap or pass them to UnmarshalIQElement.

func adminQuery(item xml.TokenReader) xml.TokenReader {
	return elem(NSMUCAdmin, "query", nil, item)
}

// RoleItem changes an occupant's role (IQ set): participant grants voice,
// visitor revokes it, none kicks (307), moderator promotes. nick is raw.
func RoleItem(nick, role, reason string) xml.TokenReader {
	return adminQuery(elem("", "item", []xml.Attr{attr("nick", nick), attr("role", role)}, textElem("reason", reason)))
}

// AffiliationItem changes a bare JID's affiliation (IQ set): outcast bans
// (301), none clears, member/admin/owner grant.
func AffiliationItem(bareJID, aff, reason string) xml.TokenReader {
	return adminQuery(elem("", "item", []xml.Attr{attr("affiliation", aff), attr("jid", bareJID)}, textElem("reason", reason)))
}

// ListQuery asks for every JID with an affiliation (IQ get); decode the
// reply into AdminItems.
func ListQuery(affiliation string) xml.TokenReader {
	return adminQuery(elem("", "item", []xml.Attr{attr("affiliation", affiliation)}))
}

// RoleListQuery asks for every occupant with a role (IQ get), e.g.
// moderator or participant; decode the reply into AdminItems.
func RoleListQuery(role string) xml.TokenReader {
	return adminQuery(elem("", "item", []xml.Attr{attr("role", role)}))
}

// AdminItems is the reply to ListQuery and RoleListQuery.
type AdminItems struct {
	Items []Item
}

// UnmarshalXML decodes a muc#admin <query>.
func (a *AdminItems) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var w struct {
		Items []wireItem `xml:"item"`
	}
	if err := d.DecodeElement(&w, &start); err != nil {
		return err
	}
	a.Items = nil
	for _, it := range w.Items {
		a.Items = append(a.Items, it.item())
	}
	return nil
}

// DecodeAdminItems finds the muc#admin query in r (a whole IQ reply or the
// query alone) and decodes its items.
func DecodeAdminItems(r xml.TokenReader) (AdminItems, error) {
	var a AdminItems
	err := decodeFirst(r, xml.Name{Space: NSMUCAdmin, Local: "query"}, &a)
	return a, err
}

func ownerQuery(children ...xml.TokenReader) xml.TokenReader {
	return elem(NSMUCOwner, "query", nil, children...)
}

// ConfigQuery asks for the room's configuration form (IQ get); decode the
// reply with DecodeForm or into OwnerQuery.
func ConfigQuery() xml.TokenReader { return ownerQuery() }

// OwnerQuery is a muc#owner <query> reply: the config form.
type OwnerQuery struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/muc#owner query"`
	Form    *Form    `xml:"jabber:x:data x"`
}

// ConfigSubmit submits config fields (IQ set): FORM_TYPE plus only the given
// fields, so fields the bot does not know keep their values. Field names are
// server specific (Prosody muc#roomconfig_moderatedroom, ejabberd
// members_by_default): read the form first and submit only fields it has.
// See SubmitForm for how empty values are sent.
func ConfigSubmit(fields map[string][]string) xml.TokenReader {
	return ownerQuery(SubmitForm(NSMUCRoomConfig, fields))
}

// CancelConfig cancels the configuration of a new, locked room (IQ set).
func CancelConfig() xml.TokenReader {
	return ownerQuery(elem(NSData, "x", attrs("type", "cancel")))
}

// DestroyQuery destroys the room (IQ set).
func DestroyQuery(reason string) xml.TokenReader {
	return ownerQuery(elem("", "destroy", nil, textElem("reason", reason)))
}
