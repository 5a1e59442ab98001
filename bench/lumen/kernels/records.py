class Point:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y

def main():
    buckets = {}
    for i in range(200000):
        p = Point(i, i * 2)
        k = i % 1000
        buckets[k] = buckets.get(k, 0) + p.x + p.y
    total = 0
    for v in buckets.values():
        total += v
    print(len(buckets), total)

main()
