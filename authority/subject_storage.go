package authority

// SubjectTokenStorage is room for what a [SubjectToken] holds (the token
// and its digest), for a value that keeps a SubjectToken among its own
// fields and so saves the SubjectToken an allocation of its own: the
// inbound middleware's context value is one, so that a request's token
// costs one allocation for the context and the SubjectToken together.
//
// Its zero value is empty. Use it through a pointer: it must not be copied
// after [SubjectTokenStorage.Init] (go vet reports copies). Its memory
// lives as long as any SubjectToken that Init returned.
type SubjectTokenStorage struct {
	s subjectToken
}

// Init stores raw and returns a SubjectToken backed by st, which behaves
// exactly as one from [NewSubjectToken] (it does not hash raw either). An
// empty raw gives the zero SubjectToken and leaves st empty. Init is called
// once, before the SubjectToken is shared; it panics if st already holds a
// token, since the SubjectTokens it returned would otherwise change.
func (st *SubjectTokenStorage) Init(raw string) SubjectToken {
	if st.s.raw != "" {
		panic("authority: SubjectTokenStorage.Init called twice")
	}
	if raw == "" {
		return SubjectToken{}
	}
	st.s.raw = raw
	return SubjectToken{s: &st.s}
}
