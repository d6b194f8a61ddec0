package verdict

import (
	"context"
	"net/netip"
	"testing"
)

type stage struct {
	name string
	res  Result
	saw  *[]string
}

func (s stage) Name() string { return s.name }
func (s stage) CheckMessage(_ context.Context, _ *Client, m *Message, v *Verdict) Result {
	*s.saw = append(*s.saw, s.name+":"+string(m.Body))
	v.Note(s.name, true)
	return s.res
}

// TestPipelineOrderBodyJunkAndRefusal: stages run in order, each seeing the
// body as the stages before it left it; fields add up in order; Junk from
// any stage sticks; a refusal stops the run.
func TestPipelineOrderBodyJunkAndRefusal(t *testing.T) {
	var saw []string
	p := &Pipeline{Message: []MessageStage{
		stage{"auth", Result{Fields: []string{"Authentication-Results: x"}, Body: []byte("clean")}, &saw},
		stage{"spam", Result{Fields: []string{"X-Spam: yes"}, Junk: true}, &saw},
		stage{"last", Result{}, &saw},
	}}
	v := p.CheckMessage(context.Background(), &Client{}, &Message{Body: []byte("raw")})
	if got := saw; len(got) != 3 || got[0] != "auth:raw" || got[1] != "spam:clean" || got[2] != "last:clean" {
		t.Fatalf("stages saw %q", got)
	}
	if v.Reply != nil || !v.Junk || string(v.Body) != "clean" || len(v.Fields) != 2 || v.Fields[1] != "X-Spam: yes" {
		t.Fatalf("verdict %+v", v)
	}
	if v.Notes["spam"] != true {
		t.Fatalf("notes %v", v.Notes)
	}

	saw = nil
	refuse := &Reply{Code: 554, Enhanced: [3]int{5, 7, 0}, Text: "virus"}
	p.Message[1] = stage{"virus", Result{Reply: refuse}, &saw}
	v = p.CheckMessage(context.Background(), &Client{}, &Message{Body: []byte("raw")})
	if v.Reply != refuse || len(saw) != 2 {
		t.Fatalf("refusal: reply %v after %q; want the virus reply after two stages", v.Reply, saw)
	}
	if got := refuse.String(); got != "554 5.7.0 virus" {
		t.Fatalf("reply text %q", got)
	}
}

// TestNilPipelineChecksNothing: a node with no checks configured passes
// every client and message unchanged.
func TestNilPipelineChecksNothing(t *testing.T) {
	var p *Pipeline
	if r := p.CheckClient(context.Background(), &Client{}); r != nil {
		t.Fatal(r)
	}
	if r := p.CheckConnect(context.Background(), netip.MustParseAddr("192.0.2.1")); r != nil {
		t.Fatal(r)
	}
	v := p.CheckMessage(context.Background(), &Client{}, &Message{Body: []byte("b")})
	if v.Reply != nil || string(v.Body) != "b" || v.Junk || len(v.Fields) != 0 {
		t.Fatalf("%+v", v)
	}
}

type connectStage struct {
	reply *Reply
	saw   *[]string
}

func (s connectStage) Name() string { return "list" }
func (s connectStage) CheckConnect(_ context.Context, ip netip.Addr) *Reply {
	*s.saw = append(*s.saw, ip.String())
	return s.reply
}

// TestConnectStagesFirstRefusalWins: connect stages run in order on the
// address; the first refusal stops the run.
func TestConnectStagesFirstRefusalWins(t *testing.T) {
	var saw []string
	listed := &Reply{Code: 554, Enhanced: [3]int{5, 7, 1}, Text: "listed"}
	p := &Pipeline{Connect: []ConnectStage{connectStage{nil, &saw}, connectStage{listed, &saw}, connectStage{nil, &saw}}}
	if r := p.CheckConnect(context.Background(), netip.MustParseAddr("192.0.2.1")); r != listed || len(saw) != 2 {
		t.Fatalf("reply %v after %q; want the second stage's", r, saw)
	}
}
