// The program bench/execloop.c runs: static, no libc, exits 0 at once, so a fork+exec loop
// measures the exec path and the hooks on it rather than a dynamic loader.
void _start(void)
{
	__asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
}
