package proto

import (
	"encoding/xml"

	"mellium.im/xmlstream"
)

// attr builds an unqualified attribute.
func attr(name, value string) xml.Attr {
	return xml.Attr{Name: xml.Name{Local: name}, Value: value}
}

// attrs builds attributes from name/value pairs, leaving out empty values.
func attrs(kv ...string) []xml.Attr {
	var out []xml.Attr
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			out = append(out, attr(kv[i], kv[i+1]))
		}
	}
	return out
}

// elem wraps children in an element. Only elements that change the
// namespace get a Space: encoding/xml writes an xmlns for every element that
// has one.
func elem(space, local string, a []xml.Attr, children ...xml.TokenReader) xml.TokenReader {
	start := xml.StartElement{Name: xml.Name{Space: space, Local: local}, Attr: a}
	return xmlstream.Wrap(seq(children...), start)
}

// text is a character data reader; nil for "", so that <x></x> stays <x/>-like.
func text(s string) xml.TokenReader {
	if s == "" {
		return nil
	}
	return xmlstream.Token(xml.CharData(s))
}

// textElem is <local>s</local>, or nothing when s is "".
func textElem(local, s string) xml.TokenReader {
	if s == "" {
		return nil
	}
	return elem("", local, nil, text(s))
}

// seq concatenates readers, skipping nil ones.
func seq(rs ...xml.TokenReader) xml.TokenReader {
	var out []xml.TokenReader
	for _, r := range rs {
		if r != nil {
			out = append(out, r)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return xmlstream.MultiReader(out...)
}
