package proto

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Form is a XEP-0004 data form. Unlike mellium's form.Data it decodes result
// forms with <reported>/<item> (bug B8) and never panics on text-multi values
// (bug B7).
type Form struct {
	// Type is form, submit, cancel or result.
	Type         string  `json:"type,omitempty"`
	Title        string  `json:"title,omitempty"`
	Instructions string  `json:"instructions,omitempty"`
	Fields       []Field `json:"fields,omitempty"`
	// Reported and Items are the table of a multi-item result form.
	Reported []Field   `json:"reported,omitempty"`
	Items    [][]Field `json:"items,omitempty"`
}

// Field is one form field.
type Field struct {
	Var      string   `json:"var,omitempty"`
	Type     string   `json:"type,omitempty"`
	Label    string   `json:"label,omitempty"`
	Desc     string   `json:"desc,omitempty"`
	Required bool     `json:"required,omitempty"`
	Values   []string `json:"values,omitempty"`
	// Options are the option values of a list field.
	Options []string `json:"options,omitempty"`
}

// FormType is the value of the hidden FORM_TYPE field, or "".
func (f Form) FormType() string { return f.Value("FORM_TYPE") }

// Field returns the first field with the given var.
func (f Form) Field(v string) (Field, bool) {
	for _, fl := range f.Fields {
		if fl.Var == v {
			return fl, true
		}
	}
	return Field{}, false
}

// Has reports whether the form has a field with the given var. Config field
// names differ between servers, so check before submitting one.
func (f Form) Has(v string) bool {
	_, ok := f.Field(v)
	return ok
}

// Values returns the values of a field (nil when absent).
func (f Form) Values(v string) []string {
	fl, _ := f.Field(v)
	return fl.Values
}

// Value returns the first value of a field, or "".
func (f Form) Value(v string) string {
	if vs := f.Values(v); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// Bool reads a boolean field ("1" or "true").
func (f Form) Bool(v string) bool { return parseBool(f.Value(v)) }

// Map returns every field's values by var (the first occurrence wins).
func (f Form) Map() map[string][]string {
	m := make(map[string][]string, len(f.Fields))
	for _, fl := range f.Fields {
		if _, dup := m[fl.Var]; !dup && fl.Var != "" {
			m[fl.Var] = fl.Values
		}
	}
	return m
}

func parseBool(s string) bool {
	s = strings.TrimSpace(s)
	return s == "1" || s == "true"
}

type wireOption struct {
	Value string `xml:"value"`
}

type wireField struct {
	Var      string       `xml:"var,attr"`
	Type     string       `xml:"type,attr"`
	Label    string       `xml:"label,attr"`
	Desc     string       `xml:"desc"`
	Required *struct{}    `xml:"required"`
	Values   []string     `xml:"value"`
	Options  []wireOption `xml:"option"`
}

type wireFieldList struct {
	Fields []wireField `xml:"field"`
}

type wireForm struct {
	Type         string          `xml:"type,attr"`
	Title        string          `xml:"title"`
	Instructions []string        `xml:"instructions"`
	Fields       []wireField     `xml:"field"`
	Reported     *wireFieldList  `xml:"reported"`
	Items        []wireFieldList `xml:"item"`
}

func (w wireField) field() Field {
	f := Field{Var: w.Var, Type: w.Type, Label: w.Label, Desc: w.Desc, Required: w.Required != nil, Values: w.Values}
	for _, o := range w.Options {
		f.Options = append(f.Options, o.Value)
	}
	return f
}

func fields(ws []wireField) []Field {
	if len(ws) == 0 {
		return nil
	}
	out := make([]Field, len(ws))
	for i, w := range ws {
		out[i] = w.field()
	}
	return out
}

// UnmarshalXML decodes a jabber:x:data <x> element.
func (f *Form) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var w wireForm
	if err := d.DecodeElement(&w, &start); err != nil {
		return err
	}
	*f = Form{
		Type:         w.Type,
		Title:        w.Title,
		Instructions: strings.Join(w.Instructions, "\n"),
		Fields:       fields(w.Fields),
	}
	if w.Reported != nil {
		f.Reported = fields(w.Reported.Fields)
	}
	for _, it := range w.Items {
		f.Items = append(f.Items, fields(it.Fields))
	}
	return nil
}

// ErrNotFound is returned by the Decode… functions when the element they
// look for is not in the input.
var ErrNotFound = errors.New("proto: element not found")

// decodeFirst scans r for the first element named name (any depth) and
// decodes it into v. Space "" matches any namespace.
func decodeFirst(r xml.TokenReader, name xml.Name, v any) error {
	d := xml.NewTokenDecoder(r)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return fmt.Errorf("%w: %s %s", ErrNotFound, name.Space, name.Local)
		}
		if err != nil {
			return err
		}
		start, ok := tok.(xml.StartElement)
		if !ok || start.Name.Local != name.Local || (name.Space != "" && start.Name.Space != name.Space) {
			continue
		}
		return d.DecodeElement(v, &start)
	}
}

// DecodeForm returns the first data form in r, at any depth: r may be a
// whole IQ reply (e.g. the muc#owner config query) or just the <x>.
func DecodeForm(r xml.TokenReader) (Form, error) {
	var f Form
	err := decodeFirst(r, xml.Name{Space: NSData, Local: "x"}, &f)
	return f, err
}

// SubmitForm builds a jabber:x:data submit form: FORM_TYPE (when formType is
// not "") followed by the given fields in var order. A nil or empty slice
// submits the field with no value (how a list-multi is cleared); []string{""}
// submits one empty value (how a text field is cleared). A FORM_TYPE key in
// fields is ignored in favour of formType.
func SubmitForm(formType string, fields map[string][]string) xml.TokenReader {
	var children []xml.TokenReader
	if formType != "" {
		children = append(children, elem("", "field", attrs("var", "FORM_TYPE", "type", "hidden"), valueElems([]string{formType})))
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if k == "FORM_TYPE" {
			continue
		}
		children = append(children, elem("", "field", []xml.Attr{attr("var", k)}, valueElems(fields[k])))
	}
	return elem(NSData, "x", attrs("type", "submit"), children...)
}

func valueElems(vs []string) xml.TokenReader {
	var rs []xml.TokenReader
	for _, v := range vs {
		rs = append(rs, elem("", "value", nil, text(v)))
	}
	return seq(rs...)
}
