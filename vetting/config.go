package vetting

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steward-xmpp/steward/policies"
)

// Config is rooms[].policies.vetting.
type Config struct {
	// Marker is the symbol a visitor puts at the start of their nick to ask
	// for voice ("add the symbol in front of your nick and wait"). Empty
	// turns the nick-marker way off. It must survive Prosody's nick rules.
	Marker string `mapstructure:"marker"`
	// Hours are the vetting hours: "always" or e.g.
	// "Mon-Fri 18:00-22:00; Sat,Sun 10:00-22:00 Europe/Berlin". Outside them
	// requests are queued, applicants are told when vetting resumes and
	// officers are notified when it does.
	Hours string `mapstructure:"hours"`
	// AllowedServers, when not empty, lists the only servers (JID domains)
	// whose accounts may request voice.
	AllowedServers []string `mapstructure:"allowed_servers"`
	// DeniedServers lists servers whose accounts may not request voice.
	DeniedServers []string `mapstructure:"denied_servers"`
	// AnswerButtonRequestsWith, when set, is sent privately to whoever uses
	// the voice-request form, and form requests are not queued (for rooms
	// that vet by nick marker or direct message only).
	AnswerButtonRequestsWith string `mapstructure:"answer_button_requests_with"`
	// Cooldown is how long after a denial a new request is answered
	// automatically instead of queued. 0 turns it off.
	Cooldown time.Duration `mapstructure:"cooldown"`
	// MaxPending caps the queue; beyond it applicants are asked to wait.
	MaxPending int `mapstructure:"max_pending"`
	// Grant is "role" (voice only, the member list stays short) or "member"
	// (voice and membership).
	Grant string `mapstructure:"grant"`
	// KeepAfterLeave keeps a request this long after the applicant left; 0
	// drops it at once.
	KeepAfterLeave time.Duration `mapstructure:"keep_after_leave"`
	// NotifyBatch collects requests arriving within this window into one
	// message to officers; 0 notifies at once.
	NotifyBatch time.Duration `mapstructure:"notify_batch"`
	// VouchBy is who may vouch: "member" (members and above) or "voice"
	// (anyone with voice).
	VouchBy string `mapstructure:"vouch_by"`
	// VouchEffect is "grant" (voice at once) or "prioritise" (the request
	// goes to the top of the queue).
	VouchEffect string `mapstructure:"vouch_effect"`
	// TellDropMarker tells an approved applicant they may drop the marker.
	TellDropMarker bool `mapstructure:"tell_drop_marker"`
	// RememberApprovals re-grants voice when an approved person rejoins and
	// the server forgot their role.
	RememberApprovals bool `mapstructure:"remember_approvals"`
	// Welcome is sent privately to an approved applicant.
	Welcome string `mapstructure:"welcome"`
}

// Defaults returns the values used for keys the YAML leaves out.
func Defaults() *Config {
	return &Config{
		Marker:            "?",
		Hours:             "always",
		AllowedServers:    []string{},
		DeniedServers:     []string{},
		Cooldown:          24 * time.Hour,
		MaxPending:        50,
		Grant:             GrantRole,
		NotifyBatch:       3 * time.Second,
		VouchBy:           VouchByMember,
		VouchEffect:       VouchGrant,
		TellDropMarker:    true,
		RememberApprovals: true,
		Welcome:           "You have voice now. Welcome!",
	}
}

// Values of Config.Grant, Config.VouchBy and Config.VouchEffect.
const (
	GrantRole        = "role"
	GrantMember      = "member"
	VouchByMember    = "member"
	VouchByVoice     = "voice"
	VouchGrant       = "grant"
	VouchPrioritise  = "prioritise"
	maxNotifyBatch   = time.Minute
	maxTextRunes     = 1000
	maxPendingLimit  = 10000
	maxServerEntries = 1000
)

// Validate reports every problem, each naming its key.
func (c *Config) Validate() error {
	var errs []error
	if c.Marker != "" {
		if err := CheckMarker(c.Marker); err != nil {
			errs = append(errs, policies.KeyErrorf("marker", "%v", err))
		}
	}
	if _, err := ParseHours(c.Hours); err != nil {
		errs = append(errs, policies.KeyErrorf("hours", "%v", err))
	}
	errs = append(errs, checkServers("allowed_servers", c.AllowedServers)...)
	errs = append(errs, checkServers("denied_servers", c.DeniedServers)...)
	for _, a := range c.AllowedServers {
		for _, d := range c.DeniedServers {
			if strings.EqualFold(a, d) {
				errs = append(errs, policies.KeyErrorf("denied_servers", "%q is also in allowed_servers", d))
			}
		}
	}
	if n := len([]rune(c.AnswerButtonRequestsWith)); n > maxTextRunes {
		errs = append(errs, policies.KeyErrorf("answer_button_requests_with", "is %d characters long, at most %d", n, maxTextRunes))
	}
	if c.Cooldown < 0 {
		errs = append(errs, policies.KeyErrorf("cooldown", "must not be negative, got %s", c.Cooldown))
	}
	if c.MaxPending < 1 || c.MaxPending > maxPendingLimit {
		errs = append(errs, policies.KeyErrorf("max_pending", "must be between 1 and %d, got %d", maxPendingLimit, c.MaxPending))
	}
	if c.Grant != GrantRole && c.Grant != GrantMember {
		errs = append(errs, policies.KeyErrorf("grant", `must be "role" or "member", got %q`, c.Grant))
	}
	if c.KeepAfterLeave < 0 {
		errs = append(errs, policies.KeyErrorf("keep_after_leave", "must not be negative, got %s", c.KeepAfterLeave))
	}
	if c.NotifyBatch < 0 || c.NotifyBatch > maxNotifyBatch {
		errs = append(errs, policies.KeyErrorf("notify_batch", "must be between 0s and %s, got %s", maxNotifyBatch, c.NotifyBatch))
	}
	if c.VouchBy != VouchByMember && c.VouchBy != VouchByVoice {
		errs = append(errs, policies.KeyErrorf("vouch_by", `must be "member" or "voice", got %q`, c.VouchBy))
	}
	if c.VouchEffect != VouchGrant && c.VouchEffect != VouchPrioritise {
		errs = append(errs, policies.KeyErrorf("vouch_effect", `must be "grant" or "prioritise", got %q`, c.VouchEffect))
	}
	if n := len([]rune(c.Welcome)); n > maxTextRunes {
		errs = append(errs, policies.KeyErrorf("welcome", "is %d characters long, at most %d", n, maxTextRunes))
	}
	return errors.Join(errs...)
}

func checkServers(key string, list []string) []error {
	var errs []error
	if len(list) > maxServerEntries {
		return []error{policies.KeyErrorf(key, "has %d entries, at most %d", len(list), maxServerEntries)}
	}
	for i, s := range list {
		if err := checkServer(s); err != nil {
			errs = append(errs, policies.KeyErrorf(fmt.Sprintf("%s[%d]", key, i), "%v", err))
		}
	}
	return errs
}

// checkServer accepts a JID domain such as "example.org".
func checkServer(s string) error {
	switch {
	case s == "":
		return errors.New("is empty")
	case strings.ContainsAny(s, "@/ \t"):
		return fmt.Errorf("%q is not a server name: give the domain only, e.g. example.org", s)
	case strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, ".."):
		return fmt.Errorf("%q is not a server name", s)
	case len(s) > 253:
		return fmt.Errorf("%q is too long for a server name", s)
	}
	return nil
}

// serverAccepted reports whether accounts of domain may request voice.
func (c *Config) serverAccepted(domain string) bool {
	for _, d := range c.DeniedServers {
		if strings.EqualFold(d, domain) {
			return false
		}
	}
	if len(c.AllowedServers) == 0 {
		return true
	}
	for _, a := range c.AllowedServers {
		if strings.EqualFold(a, domain) {
			return true
		}
	}
	return false
}
