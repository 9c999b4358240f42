package kaconf

// node is a statement with the block that follows it, if any.
type node struct {
	pos   Pos
	text  string
	words []string
	// block is the content of the "{ ... }" after the statement; hasBlock
	// tells an empty block from none.
	block    []*node
	hasBlock bool
	dir      string // fs path of the directory of the node's file
}

// keyword is the node's first word.
func (n *node) keyword() string { return n.words[0] }

// buildTree nests statements: a '{' opens a block belonging to the
// statement just before it, at the same level. keepalived instead reads a
// '{' after a keyword it does not know as a stray brace and goes on reading
// the block's contents as if they belonged to the enclosing block, whose
// end then comes too early; here an unknown keyword's block is skipped
// whole (by the interpreter), and a '{' after no statement is an error.
func buildTree(stmts []statement, d *diags) []*node {
	var root []*node
	type frame struct {
		owner *node
		list  *[]*node
	}
	stack := []frame{{list: &root}}
	var last *node // the statement a '{' would belong to
	for _, st := range stmts {
		top := &stack[len(stack)-1]
		switch st.brace {
		case '{':
			owner := last
			if owner == nil {
				d.errorf(st.pos, "", "'{' without a keyword before it")
				// Keep the braces balanced; the anonymous block is dropped.
				owner = &node{pos: st.pos}
			}
			owner.hasBlock = true
			stack = append(stack, frame{owner: owner, list: &owner.block})
			last = nil
		case '}':
			if len(stack) == 1 {
				d.errorf(st.pos, "", "'}' without a matching '{'")
			} else {
				stack = stack[:len(stack)-1]
			}
			last = nil
		default:
			n := &node{pos: st.pos, text: st.text, words: st.words, dir: st.dir}
			*top.list = append(*top.list, n)
			last = n
		}
	}
	for i := len(stack) - 1; i > 0; i-- {
		o := stack[i].owner
		if o.words == nil {
			d.errorf(o.pos, "", "'{' is never closed")
		} else {
			d.errorf(o.pos, o.keyword(), "block is never closed: missing '}'")
		}
	}
	return root
}
