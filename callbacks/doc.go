// Package callbacks holds what the training loop (train.Fit) calls around
// every batch and epoch: Keras-style callbacks and PyTorch-exact
// learning-rate schedules.
//
// A Callback has six hooks, run in this order for a run:
//
//	OnTrainBegin
//	for each epoch:
//	    OnEpochBegin
//	    for each batch: OnBatchBegin → optimizer step → OnBatchEnd
//	    validation
//	    OnEpochEnd
//	OnTrainEnd (always, also after an error, a stop or cancellation)
//
// Callbacks run in the order given; an error from a hook stops training and
// is returned wrapped with the callback's name. Every hook gets a *State:
// the epoch, batch and step, the logs under Keras' key names (loss,
// accuracy, val_loss, val_accuracy, lr, epoch_seconds, plus any key a
// callback adds), and a Trainer to read and set the learning rate, stop
// training, snapshot and restore the weights, and save checkpoints. Embed
// Base to implement only the hooks you need.
//
// What ships:
//
//   - Learning-rate schedules computed exactly as torch.optim.lr_scheduler
//     (1.13.1) computes them: StepLR, MultiStepLR, ConstantLR, LinearLR,
//     ExponentialLR, CosineAnnealingLR, CosineAnnealingWarmRestarts,
//     PolynomialLR, OneCycleLR, LambdaLR, MultiplicativeLR, and the
//     combinators SequentialLR and ChainedScheduler. NewLRScheduler steps
//     any of them per epoch or per batch; "multiply the learning rate by
//     0.98 every 100 batches" is NewLRScheduler(StepLR(100, 0.98), PerBatch).
//   - ReduceLROnPlateau with PyTorch's semantics.
//   - EarlyStopping with Keras' semantics.
//   - History, CSVLogger, ModelCheckpoint, ProgressBar, TerminateOnNaN and
//     Lambda.
//   - LRFinder, the learning-rate range test (fastai's lr_find), with its
//     own LRFinderOption settings; train.FindLR runs it and restores the
//     model and the solver.
//   - TensorBoard, writing TensorFlow event files (TF2 scalar summaries in
//     TFRecord framing, encoded by hand in tfevent.go) that TensorBoard and
//     Katib's TensorFlowEvent collector read; it takes its own option type,
//     TensorBoardOption.
//
// Your own schedule is a type that implements Schedule (Start, Step and
// the Stateful pair, which keeps a resumed run exact), optionally with
// Validator and Restarter; LRScheduler, SequentialLR and ChainedScheduler
// take it like a built-in one (see the Schedule example).
//
// Settings are functional options, and each constructor has its own option
// type (EarlyStoppingOption, ReduceLROnPlateauOption, ModelCheckpointOption,
// CSVLoggerOption, ProgressBarOption, TerminateOnNaNOption,
// OneCycleLROption), so an option given to a callback it does not apply to
// does not compile:
//
//	callbacks.NewCSVLogger("history.csv", callbacks.WithPatience(3))
//	// cannot use callbacks.WithPatience(3) (value of struct type callbacks.PatienceOption)
//	// as callbacks.CSVLoggerOption value: callbacks.PatienceOption does not implement
//	// callbacks.CSVLoggerOption (missing method applyCSVLogger)
//
// An option several constructors take keeps one name for all of them: it
// returns a type that implements each of their option interfaces
// (WithMonitor's MonitorOption is an EarlyStoppingOption, a
// ReduceLROnPlateauOption, a ModelCheckpointOption and a
// TerminateOnNaNOption; WithMode, WithPatience and WithWriter likewise). An
// invalid value is an error from the constructor that names the field and
// its valid range. A monitored key missing from the logs is an error at
// the first epoch end. Every callback with state that matters for the rest
// of training (schedules, ReduceLROnPlateau, EarlyStopping,
// ModelCheckpoint, History) implements Stateful, so a run resumed from a
// checkpoint behaves exactly like an uninterrupted one.
//
// The package imports nothing else of this module and nothing of Gorgonia.
package callbacks
