def bump(x):
    return x + 3

def main():
    x = 0
    for _ in range(5000000):
        x = bump(x)
    print(x)

main()
