"""Weight-sharing supernets and standalone ground-truth trainings."""
