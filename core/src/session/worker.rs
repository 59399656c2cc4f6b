//! A thread that runs jobs one after another on a state of its own.

/// A thread of a torrent's that runs jobs in order on its state `S`: blocks reach a piece's
/// file, and its hash, in order, without a thread hand-off per block. The thread ends when the
/// last clone of its `Worker` is dropped.
pub(super) struct Worker<S> {
    jobs: std::sync::mpsc::Sender<Job<S>>,
}

type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

impl<S: Send + 'static> Worker<S> {
    pub fn start(name: &str, mut state: S) -> Worker<S> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job<S>>();
        let _ = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                for job in queue {
                    job(&mut state);
                }
            });
        Worker { jobs }
    }

    pub fn run(&self, job: impl FnOnce(&mut S) + Send + 'static) {
        let _ = self.jobs.send(Box::new(job));
    }
}

impl<S> Clone for Worker<S> {
    fn clone(&self) -> Self {
        Worker {
            jobs: self.jobs.clone(),
        }
    }
}
