package callbacks

// Lambda is a callback made of functions, like Keras' LambdaCallback: each
// non-nil field runs at its hook, the others do nothing. Its zero value is
// a valid callback that does nothing.
//
//	callbacks.Lambda{EpochEnd: func(s *callbacks.State) error {
//		fmt.Println("epoch", s.Epoch+1, "loss", s.Logs["loss"])
//		return nil
//	}}
type Lambda struct {
	TrainBegin func(*State) error
	TrainEnd   func(*State) error
	EpochBegin func(*State) error
	EpochEnd   func(*State) error
	BatchBegin func(*State) error
	BatchEnd   func(*State) error
}

func call(f func(*State) error, s *State) error {
	if f == nil {
		return nil
	}
	return f(s)
}

// Name implements Namer.
func (l Lambda) Name() string { return "Lambda" }

// OnTrainBegin calls TrainBegin.
func (l Lambda) OnTrainBegin(s *State) error { return call(l.TrainBegin, s) }

// OnTrainEnd calls TrainEnd.
func (l Lambda) OnTrainEnd(s *State) error { return call(l.TrainEnd, s) }

// OnEpochBegin calls EpochBegin.
func (l Lambda) OnEpochBegin(s *State) error { return call(l.EpochBegin, s) }

// OnEpochEnd calls EpochEnd.
func (l Lambda) OnEpochEnd(s *State) error { return call(l.EpochEnd, s) }

// OnBatchBegin calls BatchBegin.
func (l Lambda) OnBatchBegin(s *State) error { return call(l.BatchBegin, s) }

// OnBatchEnd calls BatchEnd.
func (l Lambda) OnBatchEnd(s *State) error { return call(l.BatchEnd, s) }
