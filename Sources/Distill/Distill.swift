// Distill
