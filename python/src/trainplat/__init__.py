"""trainplat data plane: task programs run by the Swift control plane."""
