// DistillIO
